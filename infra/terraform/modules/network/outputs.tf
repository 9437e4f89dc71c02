output "vpc_id" {
  description = "Id of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability zones used, in subnet order."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnet ids (ALB and NAT gateways only)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet ids, one per availability zone."
  value       = aws_subnet.private[*].id
}

output "private_subnet_cidrs" {
  description = "CIDR blocks of the private subnets, in the same order as private_subnet_ids."
  value       = aws_subnet.private[*].cidr_block
}

output "security_group_ids" {
  description = "Security group id per tier: alb, dashboard, cassandra, kafka, emr_primary, emr_core, emr_service, mwaa."
  value = {
    alb         = aws_security_group.alb.id
    dashboard   = aws_security_group.dashboard.id
    cassandra   = aws_security_group.cassandra.id
    kafka       = aws_security_group.kafka.id
    emr_primary = aws_security_group.emr_primary.id
    emr_core    = aws_security_group.emr_core.id
    emr_service = aws_security_group.emr_service.id
    mwaa        = aws_security_group.mwaa.id
  }
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}
