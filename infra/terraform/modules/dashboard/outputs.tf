output "url" {
  description = "Public URL of the dashboard (point a DNS record for the certificate's name at alb_dns_name)."
  value       = "https://${aws_lb.this.dns_name}/"
}

output "alb_dns_name" {
  description = "DNS name of the ALB."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone id of the ALB (for a Route 53 alias record)."
  value       = aws_lb.this.zone_id
}

output "repository_url" {
  description = "ECR repository URL to push the dashboard image to."
  value       = aws_ecr_repository.this.repository_url
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "ARN of the dashboard task definition."
  value       = aws_ecs_task_definition.this.arn
}
