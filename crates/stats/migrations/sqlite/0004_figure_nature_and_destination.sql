-- Expand only: two defaulted columns, so the previous release keeps working against it
-- (it names its columns in every INSERT, COPY and SELECT, so the defaults fill them).
-- nature: 'actual' or 'forecast'; every figure stored before it is an actual.
-- destination: an export's destination market code, '' for none (every figure before it).
ALTER TABLE sales_figures ADD COLUMN nature TEXT NOT NULL DEFAULT 'actual';
ALTER TABLE sales_figures ADD COLUMN destination TEXT NOT NULL DEFAULT '';
