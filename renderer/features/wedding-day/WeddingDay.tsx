import type { Route } from '../../app/router.js';
import { Empty, PageHeader } from '../../components/states.js';

export function WeddingDay(_props: { route: Route }) {
  return (
    <section>
      <PageHeader title="WeddingDay" />
      <Empty>Coming soon.</Empty>
    </section>
  );
}
