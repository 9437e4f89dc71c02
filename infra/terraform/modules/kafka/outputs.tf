output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the MSK cluster (the \"Cluster Name\" dimension of its CloudWatch metrics)."
  value       = aws_msk_cluster.this.cluster_name
}

output "bootstrap_brokers" {
  description = "Comma-separated SASL/SCRAM-over-TLS bootstrap brokers (port 9096)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}
