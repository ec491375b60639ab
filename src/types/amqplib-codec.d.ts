/** amqplib's field-table encoder (`amqplib/lib/codec.js`), which the publisher uses for headers. */
declare module 'amqplib/lib/codec.js' {
  export function encodeTable(buffer: Buffer, value: Record<string, unknown>, offset: number): number;
}
