"""AWS CDK app of durban-valuations: the image registry and one stack per environment."""
