// A phone app's first minutes, written against the types generated from openapi/openapi.yaml.
// It is only type-checked (`npm run check`): when the API changes shape, this stops compiling.
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "../generated/aftercare";

type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Entry = Schemas["Entry"];
export type EntryWrite = Schemas["EntryWrite"];
export type JournalChange = Schemas["JournalChange"];
export type Notification = Schemas["Notification"];

/** Thrown for every answer that is not a success: the service's RFC 9457 problem. */
export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.code}: ${problem.detail ?? problem.title}`);
  }

  /** The fields a 422 rejected, for showing next to the form inputs. */
  fieldErrors(): Record<string, string> {
    return Object.fromEntries((this.problem.errors ?? []).map((e) => [e.field, e.message]));
  }
}

function unwrap<T>(result: { data?: T; error?: Problem }): T {
  if (result.error !== undefined) throw new ApiProblem(result.error);
  if (result.data === undefined) throw new Error("the response had no body");
  return result.data;
}

export class AftercareClient {
  private accessToken: string | undefined;
  private readonly api: ReturnType<typeof createClient<paths>>;

  constructor(baseUrl: string) {
    this.api = createClient<paths>({ baseUrl });
    const bearer: Middleware = {
      onRequest: ({ request }) => {
        if (this.accessToken !== undefined) request.headers.set("Authorization", `Bearer ${this.accessToken}`);
        return request;
      },
    };
    this.api.use(bearer);
  }

  async register(email: string, password: string, timeZone: string): Promise<Schemas["Profile"]> {
    const registration: Schemas["Registration"] = {
      email,
      password,
      role: "patient",
      time_zone: timeZone,
      quiet_hours: { start: "22:00", end: "07:30" },
    };
    return unwrap(await this.api.POST("/v1/accounts", { body: registration }));
  }

  async signIn(email: string, password: string, deviceLabel: string): Promise<Schemas["TokenResponse"]> {
    const tokens = unwrap(
      await this.api.POST("/v1/auth/token", {
        body: { grant_type: "password", email, password, device_label: deviceLabel },
      }),
    );
    this.accessToken = tokens.access_token;
    return tokens;
  }

  /** Writes an entry under an id made on the phone, so an offline write can be retried safely. */
  async logPain(entryId: string, entry: EntryWrite): Promise<{ entry: Entry; created: boolean }> {
    const result = await this.api.PUT("/v1/journal/entries/{entry_id}", {
      params: { path: { entry_id: entryId } },
      body: entry,
    });
    if (result.error !== undefined) {
      // 409 stale_version carries the server's copy to reconcile with.
      if (result.error.code === "stale_version" && result.error.current !== undefined) {
        console.warn("entry changed elsewhere", result.error.current);
      }
      throw new ApiProblem(result.error);
    }
    return { entry: result.data, created: result.response.status === 201 };
  }

  /** One page of the in-app inbox, newest first, upcoming reminders and aftercare prompts included. */
  async inbox(cursor?: string): Promise<{ notifications: Notification[]; cursor?: string }> {
    const query = cursor === undefined ? { limit: 50 } : { cursor, limit: 50 };
    const page = unwrap(await this.api.GET("/v1/notifications", { params: { query } }));
    return page.next_cursor == null
      ? { notifications: page.items }
      : { notifications: page.items, cursor: page.next_cursor };
  }

  async markRead(notificationId: string): Promise<void> {
    const result = await this.api.POST("/v1/notifications/{notification_id}/read", {
      params: { path: { notification_id: notificationId } },
    });
    if (result.error !== undefined) throw new ApiProblem(result.error);
  }

  /** The journal's change feed since `cursor`, to keep the phone's offline copy in step. */
  async sync(cursor?: string): Promise<{ changes: JournalChange[]; cursor: string; more: boolean }> {
    const query = cursor === undefined ? { limit: 100 } : { cursor, limit: 100 };
    const page = unwrap(await this.api.GET("/v1/journal/changes", { params: { query } }));
    return { changes: page.changes, cursor: page.next_cursor, more: page.has_more };
  }
}

export async function firstMinutes(baseUrl: string): Promise<void> {
  const client = new AftercareClient(baseUrl);
  const email = "ana.silva@example.org";
  const password = "correct horse battery staple";
  await client.register(email, password, "Europe/Lisbon");
  const tokens = await client.signIn(email, password, "Ana's phone");
  console.log(`signed in; the access token lasts ${tokens.expires_in} s`);

  const { entry, created } = await client.logPain(crypto.randomUUID(), {
    recorded_at: new Date().toISOString(),
    pain: 6,
    regions: [{ region: "lower_back", pain: 6, qualities: ["aching", "stiffness"] }],
    symptoms: ["tingling_left_leg"],
    self_care: ["stretching", "heat"],
    notes: "Stiff after a long drive.",
  });
  console.log(`${created ? "created" : "saved"} entry version ${entry.version} on ${entry.local_date}`);

  let cursor: string | undefined;
  do {
    const page = await client.inbox(cursor);
    for (const notification of page.notifications) {
      const when = notification.status === "scheduled" ? `due ${notification.due_at}` : notification.status;
      console.log(`[${notification.kind}] ${notification.title} (${when})`);
      if (!notification.read && notification.status !== "scheduled") await client.markRead(notification.id);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
}
