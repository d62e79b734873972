-- Queries are answered by the in-memory engine, never by SQL: the only reads of
-- sales_figures are by sequence number (the primary key). The series index only slowed
-- imports down.
DROP INDEX IF EXISTS sales_figures_series;
