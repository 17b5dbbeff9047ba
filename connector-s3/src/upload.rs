//! Cut files on their way to S3. A partition's rotations are uploaded in order, one at a time,
//! each by a tokio task of its own, so the sink keeps writing records while earlier files
//! upload; a task's partitions upload side by side, at most [`UPLOADS_IN_FLIGHT`] at once
//! (Confluent's sink uploads each file inside `put`, one after the other). A partition's offset
//! moves past a rotation only once all its files are complete.

use std::sync::Arc;

use aws_sdk_s3::types::CompletedPart;
use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{info, Instrument};

use crate::storage::{Multipart, Storage, StorageError};

/// How many files a task uploads at once.
pub const UPLOADS_IN_FLIGHT: usize = 16;

/// A cut file: its multipart upload if parts were streamed, and what is left to send.
pub struct Closing {
    pub key: String,
    pub upload: Option<Multipart>,
    pub parts: Vec<CompletedPart>,
    pub pending_part: Option<Bytes>,
    pub tail: Bytes,
}

impl Closing {
    /// Bytes still held for this file.
    pub fn held_bytes(&self) -> usize {
        self.tail.len() + self.pending_part.as_ref().map_or(0, Bytes::len)
    }

    /// Sends what is left and completes the object (one PutObject, or the last parts and
    /// CompleteMultipartUpload). A retry after an error resumes where this one stopped.
    async fn finish(&mut self, storage: &Storage) -> Result<(), StorageError> {
        match &self.upload {
            None => storage.put(&self.key, self.tail.clone()).await,
            Some(mpu) => {
                if let Some(piece) = self.pending_part.clone() {
                    let part = storage.upload_part(mpu, self.parts.len() as i32 + 1, piece).await?;
                    self.parts.push(part);
                    self.pending_part = None;
                }
                if !self.tail.is_empty() {
                    let part = storage.upload_part(mpu, self.parts.len() as i32 + 1, self.tail.clone()).await?;
                    self.parts.push(part);
                    self.tail = Bytes::new();
                }
                storage.complete(mpu, &self.parts).await
            }
        }
    }
}

/// The files of one rotation: committed together, then the offset moves to `offset_after`.
pub struct Rotation {
    pub files: Vec<Closing>,
    pub offset_after: i64,
    /// Cut by wall time or memory: the offset must be committed before the next upload.
    pub synchronous: bool,
}

impl Rotation {
    pub fn held_bytes(&self) -> usize {
        self.files.iter().map(Closing::held_bytes).sum()
    }

    /// Uploads the files in order; on an error, the rotation comes back with the files not yet
    /// complete (the failed one first, with its progress).
    async fn upload(mut self, storage: &Storage) -> (Rotation, Result<(), StorageError>) {
        while let Some(file) = self.files.first_mut() {
            if let Err(e) = file.finish(storage).await {
                return (self, Err(e));
            }
            info!(key = %file.key, "object committed");
            self.files.remove(0);
        }
        (self, Ok(()))
    }

    /// Its multipart uploads.
    pub fn uploads(self) -> impl Iterator<Item = Multipart> {
        self.files.into_iter().filter_map(|c| c.upload)
    }
}

/// The task uploading one rotation.
pub struct InFlight {
    handle: JoinHandle<(Rotation, Result<(), StorageError>)>,
    held_bytes: usize,
}

impl InFlight {
    /// Starts uploading `rotation` once one of `slots` is free, in the caller's span.
    pub fn start(rotation: Rotation, storage: &Storage, slots: &Arc<Semaphore>) -> InFlight {
        let (storage, slots) = (storage.clone(), slots.clone());
        let held_bytes = rotation.held_bytes();
        let upload = async move {
            let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
            rotation.upload(&storage).await
        };
        InFlight { handle: tokio::spawn(upload.instrument(tracing::Span::current())), held_bytes }
    }

    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the upload: the rotation (complete when the result is `Ok`) and the result.
    pub async fn finished(self) -> (Option<Rotation>, Result<(), StorageError>) {
        match self.handle.await {
            Ok((rotation, result)) => (Some(rotation), result),
            // a panic in the upload (a bug): the files are lost to this task, not the offsets
            Err(e) => (None, Err(StorageError::Lost { reason: e.to_string() })),
        }
    }
}
