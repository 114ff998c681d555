// Type-checked by `npx tsc -p api/client` (tests/integration/api/test_ts_client.py): the paths, bodies and
// responses are the generated ones, so a wrong field is a compile error.
import { createClient, followFeed } from "../src/index.js";

export async function usage(baseUrl: string, address: string): Promise<string | undefined> {
  const client = createClient({ baseUrl });
  const login = await client.POST("/api/auth/login", { body: { email: "a@example.com", password: "x" } });
  const token: string | undefined = login.data?.data.access_token;
  const balances = await client.GET("/api/balances/{address}", { params: { path: { address } } });
  const first: string | undefined = balances.data?.data.balances[0]?.balance;
  for await (const event of followFeed(client, {})) {
    return `${event.event} ${token} ${first}`;
  }
  return undefined;
}
