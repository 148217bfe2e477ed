"""ODCV: constraint violations under KPI pressure in agentic tasks."""
