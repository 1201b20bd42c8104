import type { Route } from '../../app/router.js';
import { Empty, PageHeader } from '../../components/states.js';

export function Audit(_props: { route: Route }) {
  return (
    <section>
      <PageHeader title="Audit" />
      <Empty>Coming soon.</Empty>
    </section>
  );
}
