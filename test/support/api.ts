/** The user service's HTTP API, as a client sees it. */
export interface Card {
  id: string;
  number: string;
  created_at: string;
}

export interface User {
  id: string;
  name: string;
  email: string;
  created_at: string;
  card: Card | null;
}

export async function createUser(baseUrl: string, name: string, email: string): Promise<User> {
  const response = await fetch(`${baseUrl}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, email }),
  });
  if (response.status !== 201) throw new Error(`POST /users answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as User;
}

export async function getUser(baseUrl: string, id: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/users/${id}`);
  return { status: response.status, body: await response.json() };
}
