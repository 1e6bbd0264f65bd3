"""Which Terraform attributes are booleans, per resource type: the bool attributes the
built-in policies read. Terraform converts the strings "true"/"1" and "false"/"0" for a bool
attribute (go-cty's string-to-bool conversion), so `encrypted = "0"` is an unencrypted volume.
Without a provider schema "0"/"1" cannot be read as booleans everywhere (ports, counts), so
only these attributes get that conversion; tests/test_terraform_bools.py keeps the table in
step with the policy library.
"""

from __future__ import annotations

BOOL_ATTRIBUTES: dict[str, frozenset[str]] = {
    "aws_alb": frozenset({"drop_invalid_header_fields"}),
    "aws_api_gateway_method": frozenset({"api_key_required"}),
    "aws_apigatewayv2_route": frozenset({"api_key_required"}),
    "aws_cloudfront_distribution": frozenset({"cloudfront_default_certificate"}),
    "aws_cloudtrail": frozenset(
        {"enable_log_file_validation", "enable_logging", "is_multi_region_trail"}
    ),
    "aws_config_configuration_recorder": frozenset({"all_supported", "is_enabled"}),
    "aws_config_configuration_recorder_status": frozenset({"all_supported", "is_enabled"}),
    "aws_dax_cluster": frozenset({"enabled"}),
    "aws_db_instance": frozenset(
        {
            "auto_minor_version_upgrade",
            "deletion_protection",
            "iam_database_authentication_enabled",
            "publicly_accessible",
            "storage_encrypted",
        }
    ),
    "aws_dms_replication_instance": frozenset({"publicly_accessible"}),
    "aws_docdb_cluster": frozenset({"storage_encrypted"}),
    "aws_dynamodb_table": frozenset({"enabled"}),
    "aws_ebs_encryption_by_default": frozenset({"enabled"}),
    "aws_ebs_volume": frozenset({"encrypted"}),
    "aws_ecr_repository": frozenset({"scan_on_push"}),
    "aws_ecs_task_definition": frozenset({"privileged"}),
    "aws_efs_file_system": frozenset({"encrypted"}),
    "aws_eks_cluster": frozenset({"endpoint_public_access"}),
    "aws_elasticache_replication_group": frozenset(
        {"at_rest_encryption_enabled", "transit_encryption_enabled"}
    ),
    "aws_elasticsearch_domain": frozenset({"enabled", "enforce_https"}),
    "aws_guardduty_detector": frozenset({"enable"}),
    "aws_instance": frozenset({"associate_public_ip_address", "encrypted"}),
    "aws_kinesis_firehose_delivery_stream": frozenset({"enabled"}),
    "aws_kms_key": frozenset({"enable_key_rotation"}),
    "aws_launch_configuration": frozenset({"associate_public_ip_address", "encrypted"}),
    "aws_launch_template": frozenset({"associate_public_ip_address", "encrypted"}),
    "aws_lb": frozenset({"drop_invalid_header_fields"}),
    "aws_mq_broker": frozenset({"publicly_accessible"}),
    "aws_neptune_cluster": frozenset({"storage_encrypted"}),
    "aws_neptune_cluster_instance": frozenset({"publicly_accessible"}),
    "aws_opensearch_domain": frozenset({"enabled", "enforce_https"}),
    "aws_rds_cluster": frozenset(
        {
            "deletion_protection",
            "iam_database_authentication_enabled",
            "publicly_accessible",
            "storage_encrypted",
        }
    ),
    "aws_rds_cluster_instance": frozenset({"auto_minor_version_upgrade", "publicly_accessible"}),
    "awscc_rds_db_instance": frozenset({"publicly_accessible"}),
    "awscc_rds_db_cluster": frozenset({"publicly_accessible"}),
    "aws_redshiftserverless_workgroup": frozenset({"publicly_accessible"}),
    "awscc_redshiftserverless_workgroup": frozenset({"publicly_accessible"}),
    "aws_redshift_cluster": frozenset({"enable", "encrypted", "publicly_accessible"}),
    "aws_s3_bucket": frozenset({"enabled"}),
    "aws_s3_bucket_versioning": frozenset({"enabled"}),
    "aws_sqs_queue": frozenset({"sqs_managed_sse_enabled"}),
    "azurerm_app_service": frozenset(
        {"client_cert_enabled", "http2_enabled", "https_only", "remote_debugging_enabled"}
    ),
    "azurerm_container_registry": frozenset({"admin_enabled", "public_network_access_enabled"}),
    "azurerm_cosmosdb_account": frozenset(
        {"is_virtual_network_filter_enabled", "public_network_access_enabled"}
    ),
    "azurerm_function_app": frozenset(
        {"client_cert_enabled", "http2_enabled", "https_only", "remote_debugging_enabled"}
    ),
    "azurerm_key_vault": frozenset({"public_network_access_enabled", "purge_protection_enabled"}),
    "azurerm_kubernetes_cluster": frozenset(
        {
            "enabled",
            "local_account_disabled",
            "private_cluster_enabled",
            "role_based_access_control_enabled",
        }
    ),
    "azurerm_linux_function_app": frozenset(
        {"client_cert_enabled", "http2_enabled", "https_only", "remote_debugging_enabled"}
    ),
    "azurerm_linux_virtual_machine": frozenset({"disable_password_authentication"}),
    "azurerm_linux_virtual_machine_scale_set": frozenset({"disable_password_authentication"}),
    "azurerm_linux_web_app": frozenset(
        {"client_cert_enabled", "http2_enabled", "https_only", "remote_debugging_enabled"}
    ),
    "azurerm_monitor_log_profile": frozenset({"enabled"}),
    "azurerm_mssql_database": frozenset({"transparent_data_encryption_enabled"}),
    "azurerm_mssql_database_extended_auditing_policy": frozenset({"enabled"}),
    "azurerm_mssql_server": frozenset({"enabled"}),
    "azurerm_mssql_server_extended_auditing_policy": frozenset({"enabled"}),
    "azurerm_mysql_server": frozenset({"ssl_enforcement_enabled"}),
    "azurerm_network_watcher_flow_log": frozenset({"enabled"}),
    "azurerm_postgresql_server": frozenset({"ssl_enforcement_enabled"}),
    "azurerm_redis_cache": frozenset({"enable_non_ssl_port", "non_ssl_port_enabled"}),
    "azurerm_storage_account": frozenset(
        {
            "allow_blob_public_access",
            "allow_nested_items_to_be_public",
            "enable_https_traffic_only",
            "https_traffic_only_enabled",
            "infrastructure_encryption_enabled",
            "public_network_access_enabled",
        }
    ),
    "azurerm_windows_function_app": frozenset(
        {"client_cert_enabled", "http2_enabled", "https_only", "remote_debugging_enabled"}
    ),
    "azurerm_windows_web_app": frozenset(
        {"client_cert_enabled", "http2_enabled", "https_only", "remote_debugging_enabled"}
    ),
    "data.aws_vpc": frozenset({"default"}),
    "google_compute_instance": frozenset({"can_ip_forward", "enable_secure_boot"}),
    "google_compute_instance_template": frozenset({"can_ip_forward", "enable_secure_boot"}),
    "google_compute_subnetwork": frozenset({"private_ip_google_access"}),
    "google_container_cluster": frozenset(
        {
            "enable_legacy_abac",
            "enable_private_endpoint",
            "enable_private_nodes",
            "issue_client_certificate",
        }
    ),
    "google_project": frozenset({"auto_create_network"}),
    "google_sql_database_instance": frozenset({"enabled", "ipv4_enabled", "require_ssl"}),
    "google_storage_bucket": frozenset({"enabled", "uniform_bucket_level_access"}),
}
