/** Small statistics and text tables shared by the benches (`npm run bench:*`). */

/** Nearest-rank percentile (NaN when empty). */
export function pct (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

export function mean (values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
}

export function ms (v: number | null | undefined): string {
  return v == null || Number.isNaN(v) ? '-' : `${Math.round(v)}`
}

export function fixed (v: number | null | undefined, digits = 1): string {
  return v == null || Number.isNaN(v) ? '-' : v.toFixed(digits)
}

export function table (rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length)))
  return rows.map((r, j) => {
    const line = '  ' + r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ')
    return j === 0 ? `${line}\n  ${'-'.repeat(line.length - 2)}` : line
  }).join('\n')
}
