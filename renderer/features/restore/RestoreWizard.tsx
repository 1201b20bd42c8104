import type { Route } from '../../app/router.js';
import { Empty, PageHeader } from '../../components/states.js';

export function RestoreWizard(_props: { route: Route }) {
  return (
    <section>
      <PageHeader title="RestoreWizard" />
      <Empty>Coming soon.</Empty>
    </section>
  );
}
