#!/usr/bin/env bash
# Run the database migrations of an environment stack with a new image, once, on Fargate.
#
#   deploy/aws/scripts/run-migrations.sh STACK_NAME IMAGE_URI
#
# Reads the stack's outputs (ClusterName, MigrateTaskFamily, MigrateContainerName,
# TaskSubnetIds, TaskSecurityGroupId), registers a new revision of the migrate task
# definition in which the migrate container runs IMAGE_URI, runs it in the private subnets
# without a public IP and waits until it stops. Exits with 0 only when the migrate
# container exited with code 0, otherwise with 1 and a message that names the task ARN
# and the CloudWatch log group.
#
# Needs the AWS CLI v2, jq, and credentials for the stack's region (AWS_REGION).
# MIGRATION_TIMEOUT_MINUTES (default 30) is how long to wait for the task to stop. A task
# still running after that is left running, because stopping it could interrupt a
# migration.
set -euo pipefail

# The CLI must not page its output in an interactive shell.
export AWS_PAGER=""

fail() {
    echo "run-migrations.sh: $*" >&2
    exit 1
}

if [ "$#" -ne 2 ]; then
    echo "usage: $0 STACK_NAME IMAGE_URI" >&2
    exit 2
fi
stack_name=$1
image_uri=$2
timeout_minutes=${MIGRATION_TIMEOUT_MINUTES:-30}
if ! [[ $timeout_minutes =~ ^[1-9][0-9]*$ ]]; then
    echo "run-migrations.sh: MIGRATION_TIMEOUT_MINUTES must be a positive integer, got '$timeout_minutes'" >&2
    exit 2
fi

# Stack outputs.
stack_outputs=$(aws cloudformation describe-stacks --stack-name "$stack_name" \
    --query 'Stacks[0].Outputs' --output json)

stack_output() {
    jq --exit-status --raw-output --arg key "$1" \
        '.[]? | select(.OutputKey == $key) | .OutputValue' <<<"$stack_outputs" ||
        fail "stack $stack_name has no output $1; deploy the stack before running migrations"
}

cluster=$(stack_output ClusterName)
family=$(stack_output MigrateTaskFamily)
container=$(stack_output MigrateContainerName)
subnet_ids=$(stack_output TaskSubnetIds)
security_group_id=$(stack_output TaskSecurityGroupId)

# A copy of the latest revision of the migrate task definition with the new image. The
# fields that ECS sets itself are dropped, because register-task-definition rejects them.
task_definition=$(aws ecs describe-task-definition --task-definition "$family" \
    --query taskDefinition --output json)
jq --exit-status --arg name "$container" 'any(.containerDefinitions[]; .name == $name)' \
    <<<"$task_definition" >/dev/null ||
    fail "task definition family $family has no container named $container"

new_task_definition=$(jq --arg name "$container" --arg image "$image_uri" '
    del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
        .registeredAt, .registeredBy, .deregisteredAt)
    | .containerDefinitions |= map(if .name == $name then .image = $image else . end)
' <<<"$task_definition")
task_definition_arn=$(aws ecs register-task-definition --cli-input-json "$new_task_definition" \
    --query taskDefinition.taskDefinitionArn --output text)
echo "registered $task_definition_arn with image $image_uri"

log_group=$(jq --raw-output --arg name "$container" '
    .containerDefinitions[] | select(.name == $name)
    | .logConfiguration.options["awslogs-group"] // "(no awslogs log group configured)"
' <<<"$task_definition")
log_stream_prefix=$(jq --raw-output --arg name "$container" '
    .containerDefinitions[] | select(.name == $name)
    | .logConfiguration.options["awslogs-stream-prefix"] // empty
' <<<"$task_definition")

# One task in the stack's private subnets. TaskSubnetIds is a comma-separated list.
network_configuration=$(jq --null-input --arg subnets "$subnet_ids" --arg group "$security_group_id" '
    {awsvpcConfiguration: {
        subnets: ($subnets | split(",")),
        securityGroups: [$group],
        assignPublicIp: "DISABLED"
    }}
')
run_result=$(aws ecs run-task --cluster "$cluster" --task-definition "$task_definition_arn" \
    --launch-type FARGATE --count 1 --network-configuration "$network_configuration" \
    --started-by "migrations-${GITHUB_RUN_ID:-manual}" --output json)
task_arn=$(jq --raw-output '.tasks[0].taskArn // empty' <<<"$run_result")
if [ -z "$task_arn" ]; then
    fail "run-task started no task in cluster $cluster: $(jq --compact-output '.failures' <<<"$run_result")"
fi
echo "started migration task $task_arn in cluster $cluster"

# The tasks-stopped waiter gives up after 10 minutes (100 polls, 6 s apart, in botocore's
# ECS waiter model), so it is repeated until the deadline.
deadline=$((SECONDS + timeout_minutes * 60))
until aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn"; do
    last_status=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
        --query 'tasks[0].lastStatus' --output text)
    if ((SECONDS >= deadline)); then
        fail "migration task $task_arn did not stop within $timeout_minutes minutes" \
            "(last status $last_status) and is left running; its output is in the" \
            "CloudWatch log group $log_group"
    fi
    echo "migration task is $last_status, still waiting"
    sleep 5
done

task=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
    --query 'tasks[0]' --output json)
exit_code=$(jq --raw-output --arg name "$container" \
    '.containers[] | select(.name == $name) | .exitCode // "none"' <<<"$task")
stopped_reason=$(jq --raw-output '.stoppedReason // "none given"' <<<"$task")
container_reason=$(jq --raw-output --arg name "$container" \
    '.containers[] | select(.name == $name) | .reason // empty' <<<"$task")

if [ "$exit_code" = 0 ]; then
    echo "migration task $task_arn finished with exit code 0"
    exit 0
fi

# The awslogs driver names each stream PREFIX/CONTAINER/TASK_ID.
log_stream=""
if [ -n "$log_stream_prefix" ]; then
    log_stream="$log_stream_prefix/$container/${task_arn##*/}"
    echo "last lines of the log stream $log_stream:" >&2
    aws logs get-log-events --log-group-name "$log_group" --log-stream-name "$log_stream" \
        --limit 50 --no-start-from-head --output json |
        jq --raw-output '.events[].message' >&2 ||
        echo "(could not read the log stream)" >&2
fi
fail "migration task $task_arn failed: container $container exit code $exit_code," \
    "stop reason: $stopped_reason${container_reason:+, container reason: $container_reason}." \
    "Its output is in the CloudWatch log group $log_group${log_stream:+, stream $log_stream}"
