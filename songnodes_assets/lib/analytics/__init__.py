"""Gold analytics: pure builders (DuckDB SQL over the catalog views -> contract-conforming frames) and the
read-side queries of the CLI. No Dagster here; the assets wire these modules."""
