import type { Route } from '../../app/router.js';
import { Empty, PageHeader } from '../../components/states.js';

export function Validation(_props: { route: Route }) {
  return (
    <section>
      <PageHeader title="Validation" />
      <Empty>Coming soon.</Empty>
    </section>
  );
}
