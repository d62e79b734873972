-- Expand: the successors of a page of partnerships are read in one query by predecessor.
CREATE INDEX partnerships_by_predecessor ON partnerships (predecessor_id, id);
