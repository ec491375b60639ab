/**
 * Text width without a browser: the advance widths of Helvetica (which Arial and Liberation Sans share),
 * in thousandths of the font size, for printable ASCII. Other characters count as wide. Good enough to
 * size boxes for a layout; the boxes get a little padding on top.
 */
const widths =
  // ' ' to '~' (32 to 126)
  [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
    556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
    260, 334, 584,
  ];

export interface FontSpec {
  readonly size: number;
  readonly bold?: boolean;
}

export function textWidth(text: string, { size, bold = false }: FontSpec): number {
  let total = 0;
  for (const character of text) {
    const code = character.codePointAt(0)!;
    total += code >= 32 && code <= 126 ? widths[code - 32]! : 900;
  }
  return (total / 1000) * size * (bold ? 1.08 : 1);
}
