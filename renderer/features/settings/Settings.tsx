import type { Route } from '../../app/router.js';
import { Empty, PageHeader } from '../../components/states.js';

export function Settings(_props: { route: Route }) {
  return (
    <section>
      <PageHeader title="Settings" />
      <Empty>Coming soon.</Empty>
    </section>
  );
}
