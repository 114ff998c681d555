// Types of src/index.js. `paths` comes from src/schema.d.ts, generated from the served OpenAPI document.
import type { Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type ApiClient = Client<paths>;

export function createClient(options: {
  baseUrl: string;
  token?: () => string | undefined;
  fetch?: typeof fetch;
  /** Send back the greatest X-Min-Lsn seen (read-your-writes under read replicas); default true. */
  readYourWrites?: boolean;
}): ApiClient;

export interface FeedEvent {
  id: string | null;
  event: string;
  data: unknown;
}

export function followFeed(
  client: ApiClient,
  query?: { cursor?: string; account?: string; signal?: AbortSignal },
): AsyncGenerator<FeedEvent>;
