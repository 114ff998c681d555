-- Search and feeds that stay fast on large tables (README "Content", bench/social_feed.py).
-- Full-text documents kept as generated columns with GIN indexes (user and creator profiles are
-- searched separately (concat_ws is not immutable, hence ||) and merged by user id), and a pattern index for username prefixes.
ALTER TABLE user_profiles
    ADD COLUMN search_doc tsvector GENERATED ALWAYS AS
        (to_tsvector('simple'::regconfig, coalesce(username, '') || ' ' || display_name || ' ' || bio)) STORED;
CREATE INDEX user_profiles_search ON user_profiles USING gin (search_doc);
CREATE INDEX user_profiles_username_prefix ON user_profiles (lower(username) text_pattern_ops);

ALTER TABLE creator_profiles
    ADD COLUMN search_doc tsvector GENERATED ALWAYS AS
        (to_tsvector('simple'::regconfig, display_name || ' ' || bio)) STORED;
CREATE INDEX creator_profiles_search ON creator_profiles USING gin (search_doc);
