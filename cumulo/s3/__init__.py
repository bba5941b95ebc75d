"""The S3 API front end (Amazon S3 REST API 2006-03-01) on the object port."""
