/** POST /users over keep-alive node:http connections (lighter on the shared CPUs than fetch). */
import { Agent, request } from 'node:http';

export interface UserClient {
  /** Creates one user; resolves with its id. Retries 5xx and connection errors a few times. */
  createUser(index: number): Promise<string>;
  readonly retries: number;
  close(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function post(agent: Agent, baseUrl: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${baseUrl}/users`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('POST /users timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export function userClient(baseUrl: string, label: string, maxSockets: number): UserClient {
  const agent = new Agent({ keepAlive: true, maxSockets });
  let retries = 0;
  return {
    get retries() {
      return retries;
    },
    async createUser(index) {
      const body = JSON.stringify({ name: `Bench User ${index}`, email: `${label}-${index}@example.com` });
      for (let attempt = 1; ; attempt += 1) {
        let failure: string;
        try {
          const { status, text } = await post(agent, baseUrl, body);
          if (status === 201) return (JSON.parse(text) as { id: string }).id;
          failure = `POST /users answered ${status}: ${text.slice(0, 300)}`;
          if (status < 500) throw new Error(failure);
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('POST /users answered 4')) throw error;
          failure = String(error);
        }
        if (attempt >= 20) throw new Error(`user ${index}: ${failure}`);
        retries += 1;
        await sleep(Math.min(2_000, 100 * attempt));
      }
    },
    close() {
      agent.destroy();
    },
  };
}
