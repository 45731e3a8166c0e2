/** A dynalite server in its own process for the bench, like DynamoDB is a service of its own on AWS. */
import { startDynalite } from '../lambdas/local/dynamodb-local';

startDynalite().then(({ endpoint }) => process.stdout.write(`${JSON.stringify({ endpoint })}\n`));
