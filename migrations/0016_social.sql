-- Social profiles and media (README "Profiles" and "Media").
-- Media objects: a presigned upload is 'pending' until the owner confirms it; the API then checks
-- the object (size, type, a decodable image), stores its re-encoded variants and marks it 'ready'.
-- A pending row past expires_at is an orphan: the cleanup deletes its object and the row.
CREATE TABLE media_objects (
    id            uuid PRIMARY KEY,
    owner_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose       text NOT NULL CHECK (purpose IN ('avatar', 'post', 'generation', 'verification')),
    upload_key    text NOT NULL UNIQUE,
    content_type  text NOT NULL,
    max_bytes     bigint NOT NULL CHECK (max_bytes > 0),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready')),
    size_bytes    bigint,
    width         integer,
    height        integer,
    variants      jsonb NOT NULL DEFAULT '{}',  -- name -> {"key", "width", "height", "content_type"}
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    confirmed_at  timestamptz
);
CREATE INDEX media_objects_pending ON media_objects (expires_at) WHERE status = 'pending';
CREATE INDEX media_objects_owner ON media_objects (owner_id);

-- Every account's public profile: a unique case-insensitive username (claimed once set, NULL until
-- then), names, bio and an avatar (a ready media object).
CREATE TABLE user_profiles (
    user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    username      text CHECK (username ~ '^[A-Za-z0-9_]{3,30}$'),
    display_name  text NOT NULL DEFAULT '' CHECK (length(display_name) <= 80),
    bio           text NOT NULL DEFAULT '' CHECK (length(bio) <= 1000),
    first_name    text NOT NULL DEFAULT '' CHECK (length(first_name) <= 80),
    last_name     text NOT NULL DEFAULT '' CHECK (length(last_name) <= 80),
    avatar_id     uuid REFERENCES media_objects (id) ON DELETE SET NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX user_profiles_username ON user_profiles (lower(username));

-- Posts (README "Content"): text plus up to 4 ready media of the author; exact like/comment counters
-- updated in the transaction that adds or removes the like or comment (the post's row lock orders them).
CREATE TABLE posts (
    id             bigserial PRIMARY KEY,
    author_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body           text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    media_ids      uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(media_ids) <= 4),
    like_count     bigint NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    comment_count  bigint NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_author ON posts (author_id, id DESC);

CREATE TABLE post_likes (
    post_id     bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);

CREATE TABLE post_comments (
    id          bigserial PRIMARY KEY,
    post_id     bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX post_comments_post ON post_comments (post_id, id);
