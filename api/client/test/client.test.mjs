// Drives the committed client against a live API (tests/integration/api/test_ts_client.py starts it and
// sets API_URL and FAN_ADDRESS, an account holding three indexed Coin transfers of 5, 7 and 11).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createClient, followFeed } from "../src/index.js";

const baseUrl = process.env.API_URL;
const fan = process.env.FAN_ADDRESS;
const password = "correct horse battery staple";

test("sign up, sign in and read my profile", async () => {
  const email = `ts-${Date.now()}@example.com`;
  let access;
  const client = createClient({ baseUrl, token: () => access });
  const signup = await client.POST("/api/auth/signup", { body: { email, password } });
  assert.equal(signup.response.status, 201, JSON.stringify(signup.error));
  const login = await client.POST("/api/auth/login", { body: { email, password } });
  assert.equal(login.response.status, 200);
  access = login.data.data.access_token;
  const me = await client.GET("/api/auth/me");
  assert.equal(me.data.data.email, email);
  const wrong = await client.POST("/api/auth/login", { body: { email, password: "not the password" } });
  assert.equal(wrong.response.status, 401);
  assert.equal(wrong.error.success, false);
});

test("send back the greatest X-Min-Lsn a response carried (read-your-writes)", async () => {
  const sent = [];
  const answers = ["900", null, "12", "not-a-number"];
  const fakeFetch = async (request) => {
    sent.push(request.headers.get("X-Min-Lsn"));
    const lsn = answers.shift();
    const headers = { "content-type": "application/json", ...(lsn ? { "X-Min-Lsn": lsn } : {}) };
    return new Response(JSON.stringify({ success: true, data: {} }), { status: 200, headers });
  };
  const client = createClient({ baseUrl: "http://api.invalid", fetch: fakeFetch });
  for (let i = 0; i < 5; i += 1) await client.GET("/api/auth/me");
  assert.deepEqual(sent, [null, "900", "900", "900", "900"]);
});

test("read balances and page the transfer history", async () => {
  const client = createClient({ baseUrl });
  const balances = await client.GET("/api/balances/{address}", { params: { path: { address: fan } } });
  assert.equal(balances.response.status, 200);
  const coin = balances.data.data.balances.find((b) => b.token === "Coin");
  assert.equal(coin.balance, "23");
  const amounts = [];
  let cursor;
  for (let i = 0; i < 5; i += 1) {
    const page = await client.GET("/api/transfers", { params: { query: { account: fan, limit: 2, cursor } } });
    assert.equal(page.response.status, 200, JSON.stringify(page.error));
    amounts.push(...page.data.data.items.map((t) => t.amount));
    cursor = page.data.data.next_cursor ?? undefined;
    if (!cursor) break;
  }
  assert.deepEqual(amounts, ["11", "7", "5"]);
});

test("follow the SSE feed", async () => {
  const client = createClient({ baseUrl });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  const seen = [];
  try {
    for await (const event of followFeed(client, { signal: controller.signal })) {
      seen.push(event.event);
      if (event.event === "connected") break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  assert.deepEqual(seen, ["connected"]);
});
