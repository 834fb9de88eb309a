
è
si_u1_u2Û
h
u2u1"c6*s60:BobBhttps://example.invalid/bob.pngHPdXeb{"content":"second"}px†Ð•ÿ¼1€†Ð•ÿ¼1ˆ
k
u2u1"c5*s50:BobBhttps://example.invalid/bob.pngHPdXeb{"content":"first âœ“"}px…Ð•ÿ¼1€…Ð•ÿ¼1ˆu
n_u1_u2j
h
imAdminu1HX±	bK{"detail":"{\"fromToUserID\":{\"fromUserID\":\"u2\",\"toUserID\":\"u1\"}}"}pxäÐ•ÿ¼1