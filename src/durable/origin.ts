/** An event source's origin in words, here so that the pure layer and the test kit need no value from the API. */

/** The shape of an origin (`ActorEventOrigin`) that its label reads. */
export type OriginLike =
  { readonly queue: string } | { readonly exchange: { readonly name: string }; readonly routingKey?: string };

/** An origin in words, as a source's `label`: `queue card_queue`, `exchange cards (card.activated)`. */
export function labelOf(origin: OriginLike): string {
  if ('queue' in origin) return `queue ${origin.queue}`;
  return `exchange ${origin.exchange.name} (${origin.routingKey ?? ''})`;
}
