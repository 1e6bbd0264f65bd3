variable "admin_cidrs" {
  type    = list(string)
  default = ["10.8.0.0/16"]
}

variable "log_bucket" {
  type = string
}

locals {
  name = "acme-${terraform.workspace}"
}
