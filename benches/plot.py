"""Plots the login-latency distribution of imbridge and of the JS peer.

    python3 benches/plot.py   # reads target/bench/*.csv, writes benches/results/login_latency.png
"""
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

bench = pathlib.Path("target/bench")
out = pathlib.Path("benches/results")
out.mkdir(parents=True, exist_ok=True)
series = [
    ("imbridge (Rust) login() → Ok", bench / "login_process_gateway_us.csv", "tab:blue"),
    ("@openim/client-sdk 0.0.14 login() → OnConnectSuccess", bench / "js_login_us.csv", "tab:orange"),
]
fig, (hist, cdf) = plt.subplots(1, 2, figsize=(11, 4.2))
for label, path, color in series:
    ms = sorted(float(v) / 1000 for v in path.read_text().split())
    hist.hist(ms, bins=[0.1 * 1.06**i for i in range(0, 110)], alpha=0.6, label=label, color=color)
    cdf.plot(ms, [(i + 1) / len(ms) for i in range(len(ms))], label=label, color=color)
    p50 = ms[len(ms) // 2]
    hist.axvline(p50, color=color, linestyle="--", linewidth=1)
hist.set_xscale("log")
hist.set_xlabel("login latency (ms, log scale)")
hist.set_ylabel("logins")
hist.set_title("Distribution (dashed: p50)")
cdf.set_xscale("log")
cdf.set_xlabel("login latency (ms, log scale)")
cdf.set_ylabel("fraction of logins")
cdf.set_title("Cumulative")
cdf.grid(True, which="both", alpha=0.3)
cdf.legend(loc="lower right", fontsize=8)
fig.suptitle("Login latency against the dev gateway on 127.0.0.1, same machine (2 cores)")
fig.tight_layout()
fig.savefig(out / "login_latency.png", dpi=110)
print(f"wrote {out / 'login_latency.png'}")
