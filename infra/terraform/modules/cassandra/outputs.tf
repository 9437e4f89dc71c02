output "hosts" {
  description = "Private IPs of the nodes (contact points)."
  value       = aws_instance.this[*].private_ip
}

output "port" {
  description = "CQL port (TLS)."
  value       = var.cql_port
}

output "datacenter" {
  description = "Cassandra data center name (the region; GossipingPropertyFileSnitch)."
  value       = data.aws_region.current.region
}

output "replication" {
  description = "Replication spec for FXTRUE_CASSANDRA_REPLICATION."
  value       = "NetworkTopologyStrategy:${data.aws_region.current.region}=${length(var.node_ips)}"
}

output "app_username" {
  description = "Application role name."
  value       = var.app_username
}

output "instance_ids" {
  description = "EC2 instance ids of the nodes."
  value       = aws_instance.this[*].id
}
