-- Generation jobs (api/generation/service.py): one row per job, a state machine moved under row locks.

-- name: insert_job
INSERT INTO generation_jobs (id, user_id, usage_id, prompt, params, price, deadline)
VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
RETURNING id, status, price, created_at, deadline;

-- name: defer_job
-- A procrastinate job, deferred in the caller's transaction (it exists exactly when the caller's rows do);
-- $5 its priority (higher is fetched first).
SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(
    'generation', $1::varchar, $5::integer, NULL, $2::text, $3::jsonb, now() + make_interval(secs => $4::float8)
)::procrastinate_job_to_defer_v1]);

-- name: job_by_id
SELECT id, user_id, usage_id, prompt, params, price, status, provider_task_id, error, deadline, callback_at,
       created_at, updated_at, finished_at, deadline <= now() AS overdue,
       (SELECT v.id FROM videos v WHERE v.job_id = generation_jobs.id) AS video_id
FROM generation_jobs WHERE id = $1;

-- name: lock_open_job
SELECT id, user_id, usage_id, prompt, params, status, provider_task_id, deadline <= now() AS overdue
FROM generation_jobs WHERE id = $1 AND status IN ('queued', 'running') FOR UPDATE;

-- name: job_status
SELECT status FROM generation_jobs WHERE id = $1;

-- name: mark_running
UPDATE generation_jobs SET status = 'running', provider_task_id = $2, updated_at = now()
WHERE id = $1 AND status = 'queued';

-- name: finish_job
UPDATE generation_jobs SET status = $2, error = $3, updated_at = now(), finished_at = now()
WHERE id = $1 AND status IN ('queued', 'running');

-- name: note_callback
UPDATE generation_jobs SET callback_at = now(), updated_at = now()
WHERE id = $1 AND status = 'running' AND callback_at IS NULL;

-- name: overdue_jobs
SELECT id FROM generation_jobs WHERE status IN ('queued', 'running') AND deadline <= now() ORDER BY deadline LIMIT $1;

-- name: insert_video
INSERT INTO videos (user_id, job_id, object_key, content_type, size_bytes, prompt, params)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: videos_page
SELECT id, job_id, object_key, content_type, size_bytes, prompt, params, created_at
FROM videos WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3;

-- name: video_by_id
SELECT id, job_id, object_key, content_type, size_bytes, prompt, params, created_at
FROM videos WHERE id = $1 AND user_id = $2;

-- name: delete_video
DELETE FROM videos WHERE id = $1 AND user_id = $2 RETURNING object_key;
