output "cassandra_instance_profile_name" {
  description = "Instance profile of the Cassandra nodes."
  value       = aws_iam_instance_profile.cassandra.name
}

output "emr_service_role_arn" {
  description = "EMR service role ARN."
  value       = aws_iam_role.emr_service.arn
}

output "emr_instance_profile_arn" {
  description = "Instance profile ARN of the EMR nodes."
  value       = aws_iam_instance_profile.emr_instance.arn
}

output "emr_instance_role_arn" {
  description = "Role ARN of the EMR nodes."
  value       = aws_iam_role.emr_instance.arn
}

output "mwaa_execution_role_arn" {
  description = "MWAA execution role ARN."
  value       = aws_iam_role.mwaa.arn
}

output "dashboard_execution_role_arn" {
  description = "ECS task execution role ARN of the dashboard."
  value       = aws_iam_role.dashboard_execution.arn
}

output "dashboard_task_role_arn" {
  description = "ECS task role ARN of the dashboard."
  value       = aws_iam_role.dashboard_task.arn
}
