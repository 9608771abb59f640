/** A page not built yet. */
export function Placeholder({ title }: { title: string }) {
  return (
    <section data-testid="placeholder">
      <h1>{title}</h1>
      <p class="hint">This page is not available yet.</p>
    </section>
  );
}
