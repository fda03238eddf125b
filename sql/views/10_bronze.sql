-- bronze.raw_scrape_data: every fetch, all runs, all scrape dates (append-only).
CREATE OR REPLACE VIEW bronze.raw_scrape_data AS
SELECT * FROM {{bronze.raw_scrape_data}};
