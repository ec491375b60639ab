import { z } from 'zod';

/** An integer from `min` to `max`, both included: the shape of most options. */
export const integer = (min: number, max: number) => z.number().int().min(min).max(max);
