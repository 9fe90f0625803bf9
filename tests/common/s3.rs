//! A local S3 server for the object-storage tests: moto on loopback, started by the test
//! and stopped by its PID when dropped; boto3 (an independent client) to fill and read it;
//! the environment GDAL's `/vsis3/` needs to reach it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A server process of the test, stopped by its PID when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The folder of the S3 test venv's programs (`make s3-env`).
pub fn venv() -> PathBuf {
    let v = super::root().join(".venv-s3/bin");
    assert!(v.join("moto_server").exists(), "no {}: run `make s3-env` (part of `make test`)", v.display());
    v
}

/// Waits up to 15 s for a server `what` to accept connections on `port`.
pub fn wait_up(port: u16, what: &str) {
    let up = (0..150).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "{what} did not start on port {port}");
}

/// A moto S3 server on loopback; returns it and its endpoint (`127.0.0.1:PORT`).
pub fn moto() -> (Server, String) {
    let port = super::free_port();
    let child = Command::new(venv().join("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_up(port, "moto_server");
    (server, format!("127.0.0.1:{port}"))
}

/// Runs boto3 code with `s`, a client of the server at `endpoint`; returns its stdout.
pub fn boto(endpoint: &str, code: &str) -> String {
    let script = format!(
        "import boto3, os, sys\ns=boto3.client('s3',endpoint_url='http://{endpoint}',aws_access_key_id='test',\
         aws_secret_access_key='test',region_name='us-east-1')\n{code}"
    );
    super::tool(venv().join("python").to_str().unwrap(), &["-c", &script])
}

/// The keys under `bucket/prefix/`, relative to it, sorted.
pub fn keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let out = boto(
        endpoint,
        &format!(
            "p=s.get_paginator('list_objects_v2')\n\
             for page in p.paginate(Bucket='{bucket}',Prefix='{prefix}/'):\n\
             \x20   for o in page.get('Contents',[]): print(o['Key'][len('{prefix}/'):])"
        ),
    );
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Downloads every object under `bucket/prefix/` into `to`.
pub fn download(endpoint: &str, bucket: &str, prefix: &str, to: &Path) -> Vec<String> {
    let names = keys(endpoint, bucket, prefix);
    let list: Vec<String> = names.iter().map(|k| format!("'{k}'")).collect();
    boto(
        endpoint,
        &format!(
            "for k in [{}]:\n\
             \x20   d=os.path.join('{to}',k); os.makedirs(os.path.dirname(d),exist_ok=True)\n\
             \x20   s.download_file('{bucket}','{prefix}/'+k,d)",
            list.join(","),
            to = to.display()
        ),
    );
    names
}

/// Makes `bucket` and uploads each of `files` (paths relative to `dir`) under its own name.
pub fn upload(endpoint: &str, dir: &Path, bucket: &str, files: &[&str]) {
    let puts: String =
        files.iter().map(|f| format!("s.upload_file('{}','{bucket}','{f}')\n", dir.join(f).display())).collect();
    boto(endpoint, &format!("s.create_bucket(Bucket='{bucket}')\n{puts}"));
}

/// The environment GDAL needs for the server at `endpoint` (credentials by environment).
pub fn s3_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_S3_ENDPOINT", endpoint.to_string()),
        ("AWS_HTTPS", "NO".into()),
        ("AWS_VIRTUAL_HOSTING", "FALSE".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// Runs `lode` with `args` against the server at `endpoint`.
pub fn lode_s3(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lode")).args(args).envs(s3_env(endpoint)).output().unwrap()
}
