-- Finding the audit rows about one thing ("was this session's alert already posted?") without
-- reading the whole log: the unclaimed-session alerts ask this for every upcoming session at
-- start-up and after every change, and the log only grows.
CREATE INDEX audit_log_by_target ON audit_log (target, action, at);
