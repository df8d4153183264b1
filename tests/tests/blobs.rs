//! The S3 adapter against two real S3 wire protocols on loopback: the dev server's in-process S3 and moto.

use framelift_aws::s3::S3Blobs;
use framelift_devserver::{BUCKET, DevConfig, RunningServer};
use framelift_shared::domain::ObjectKey;
use framelift_tests::{blob_contract, moto_endpoint, moto_sdk, temp_dir, unique_name};

async fn read(client: &aws_sdk_s3::Client, bucket: &str, key: ObjectKey) -> (Vec<u8>, Option<String>) {
    let out = client.get_object().bucket(bucket).key(key.as_str()).send().await.expect("the object exists");
    let content_type = out.content_type.clone();
    (out.body.collect().await.unwrap().into_bytes().to_vec(), content_type)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_adapter_on_the_in_process_server() {
    let dir = temp_dir("blobs-local");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let blobs = server.stack.s3_blobs();
    let client = blobs.client().clone();
    blob_contract::run_all(blobs, |key| read(&client, BUCKET, key)).await;
    blob_contract::objects(blobs).await;
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_adapter_on_moto() {
    let bucket = unique_name("media");
    let blobs = S3Blobs::new(&moto_sdk(), &bucket, Some(moto_endpoint())).unwrap();
    let client = blobs.client().clone();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    blob_contract::run_all(&blobs, |key| read(&client, &bucket, key)).await;
    blob_contract::objects(&blobs).await;
}
