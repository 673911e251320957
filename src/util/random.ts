/**
 * Seeded randomness shared by every sampling method (SmoothGrad noise, LIME/SHAP samples,
 * random rankings): mulberry32, a small 32-bit generator, so a seed reproduces a result on
 * any machine. Not Math.random (unseedable).
 */

/** mulberry32: uniform on [0, 1). */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller on two uniforms per draw). */
export function gaussian(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(Math.max(u(), 1e-300))) * Math.cos(2 * Math.PI * u());
}
