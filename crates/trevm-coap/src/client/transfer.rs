//! One request in progress ([`Transfer`]) and the message of its block in flight.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::Error;
use super::exchange::Exchange;
#[cfg(feature = "oscore")]
use super::oscore::Correlation;
use crate::block::BlockOpt;
use crate::message::{Message, opt};

/// One request in progress.
#[derive(Debug)]
pub(super) struct Transfer {
    pub(super) method: u8,
    pub(super) path: Vec<String>,
    pub(super) query: Vec<String>,
    pub(super) content_format: Option<u16>,
    pub(super) payload: Vec<u8>,
    /// Block size exponent of the upload.
    pub(super) szx: u8,
    /// Block-wise upload: where the block in flight starts.
    pub(super) upload: Option<usize>,
    /// Block-wise download: the Block2 number and size exponent in flight.
    pub(super) download: Option<(u32, u8)>,
    pub(super) body: Vec<u8>,
    pub(super) exchange: Exchange,
    /// The request registers an observation (Observe: 0, RFC 7641), sent with its first block.
    pub(super) observe: bool,
    /// The token of the next block, when not a new one (a registration again with its
    /// observation's token, RFC 7641 §3.3.1).
    pub(super) token: Option<Vec<u8>>,
    #[cfg(feature = "oscore")]
    pub(super) correlation: Option<Correlation>,
}

impl Transfer {
    /// The (unprotected) message of the block in flight: method, Uri-Path, Uri-Query,
    /// Content-Format, Observe, Block1/Block2 and the payload (or its block).
    pub(super) fn message(&mut self) -> Result<Message, Error> {
        let t = self;
        let mut m = Message {
            code: t.method,
            options: t
                .path
                .iter()
                .map(|s| (opt::URI_PATH, s.as_bytes().to_vec()))
                .chain(
                    t.query
                        .iter()
                        .map(|s| (opt::URI_QUERY, s.as_bytes().to_vec())),
                )
                .collect(),
            ..Default::default()
        };
        if t.observe && t.download.is_none() {
            m.add_uint_option(opt::OBSERVE, 0);
        }
        if let Some(format) = t.content_format.filter(|_| t.download.is_none()) {
            m.add_uint_option(opt::CONTENT_FORMAT, u32::from(format));
        }
        if let Some((num, szx)) = t.download {
            m.add_uint_option(
                opt::BLOCK2,
                BlockOpt {
                    num,
                    more: false,
                    szx,
                }
                .to_uint(),
            );
        } else if let Some(offset) = t.upload {
            let size = 16usize << t.szx;
            let end = offset.saturating_add(size).min(t.payload.len());
            let num = u32::try_from(offset / size).map_err(|_| Error::TooLarge)?;
            let more = end < t.payload.len();
            let block = BlockOpt {
                num,
                more,
                szx: t.szx,
            };
            if BlockOpt::from_uint(block.to_uint()) != Some(block) {
                return Err(Error::TooLarge);
            }
            m.add_uint_option(opt::BLOCK1, block.to_uint());
            if offset == 0 {
                let size1 = u32::try_from(t.payload.len()).map_err(|_| Error::TooLarge)?;
                m.add_uint_option(opt::SIZE1, size1);
            }
            m.payload = t.payload[offset..end].to_vec();
        } else {
            // One message: the payload moves into it (retransmissions resend its encoding).
            m.payload = core::mem::take(&mut t.payload);
        }
        Ok(m)
    }
}
