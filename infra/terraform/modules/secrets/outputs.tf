output "secret_arns" {
  description = "Secret ARN per key: cassandra_app_password, cassandra_admin_password, dashboard_password, kafka_password, truefx_username, truefx_password, kafka_scram, cassandra_tls."
  value = merge(
    { for k, s in aws_secretsmanager_secret.generated : k => s.arn },
    { for k, s in aws_secretsmanager_secret.external : k => s.arn },
    {
      kafka_scram   = aws_secretsmanager_secret.kafka_scram.arn
      cassandra_tls = aws_secretsmanager_secret.cassandra_tls.arn
    },
  )
}

output "kafka_scram_secret_arn" {
  description = "ARN of the AmazonMSK_ secret to associate with the MSK cluster (known once its value exists)."
  value       = aws_secretsmanager_secret_version.kafka_scram.arn
}

output "kafka_username" {
  description = "SASL/SCRAM user name of the application."
  value       = var.kafka_username
}

output "cassandra_ca_pem" {
  description = "PEM of the private CA that signed the Cassandra node certificate (public; clients trust it)."
  value       = tls_self_signed_cert.ca.cert_pem
}
