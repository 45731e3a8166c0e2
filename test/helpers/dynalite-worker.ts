/** dynalite in a process of its own, so a test can pause it (SIGSTOP) like a DynamoDB that stops answering. */
import { startDynalite } from '../../lambdas/local/dynamodb-local';

void startDynalite().then(({ endpoint }) => process.send!({ endpoint }));
