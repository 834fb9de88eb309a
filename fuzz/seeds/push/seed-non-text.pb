
6
sg_g1-

u3g1HXfbÿþ{€p

u3g1HXebplainp