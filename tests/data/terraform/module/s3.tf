# Buckets: "data" is complete, "assets" misses its public access block and is public.
resource "aws_s3_bucket" "data" {
  bucket = "${local.name}-data"
}

resource "aws_s3_bucket" "assets" {
  bucket = "acme-assets"
  acl    = "public-read"
}

resource "aws_s3_bucket_logging" "data" {
  bucket        = aws_s3_bucket.data.id
  target_bucket = var.log_bucket
}
