"""Service levels: SLA clocks, ETAs, alerts, KPIs, the report and the reply rubric."""
