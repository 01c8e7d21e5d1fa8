"""Customer analytics on Polars: program KPIs, RFM, cohorts, CLV (BG/NBD + Gamma-Gamma), uplift."""
