"""Cost of scoring and of reasons: CallerScorer.score_samples vs explain (shap / path).

Synthetic features (no store), one LightGBM thread, so figures are per core.

    uv run python bench/model_explain.py [--rows 20000] [--features 30] [--trees 300]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from callradar.detect.model import CallerScorer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--features", type=int, default=30)
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--shap-rows", type=int, default=2_000, help="rows explained with shap")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    cols = {f"f{i}": rng.normal(size=args.rows) for i in range(args.features)}
    signal = cols["f0"] + 0.5 * cols["f1"] - 0.3 * cols["f2"] + rng.normal(size=args.rows)
    y = (signal > 0.5).astype(int)
    templates = {n: "{value:.2f} of " + n for n in cols}
    t0 = time.perf_counter()
    model = CallerScorer(n_estimators=args.trees, n_jobs=1, reason_templates=templates)
    model.fit(cols, y)
    fit_s = time.perf_counter() - t0

    def timed(fn, rows: int) -> float:
        part = {k: v[:rows] for k, v in cols.items()}
        start = time.perf_counter()
        fn(part)
        return (time.perf_counter() - start) / rows * 1e6

    figures = {
        "rows": args.rows,
        "features": args.features,
        "trees": args.trees,
        "fit_seconds": round(fit_s, 2),
        "score_us_per_row": round(timed(model.score_samples, args.rows), 2),
        "explain_path_us_per_row": round(
            timed(lambda p: model.explain(p, method="path"), args.rows), 1
        ),
        "explain_shap_us_per_row": round(
            timed(lambda p: model.explain(p, method="shap"), args.shap_rows), 1
        ),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
