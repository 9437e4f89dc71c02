output "cluster_id" {
  description = "EMR cluster id (j-...), for steps submitted by MWAA."
  value       = aws_emr_cluster.this.id
}

output "cluster_name" {
  description = "EMR cluster name (also its Name tag)."
  value       = local.cluster_name
}

output "primary_dns" {
  description = "Private DNS name of the primary node."
  value       = aws_emr_cluster.this.master_public_dns
}
